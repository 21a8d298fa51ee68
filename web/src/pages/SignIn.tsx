/** Pasting an API key: it is kept in this tab's sessionStorage only. */
import { useState } from "preact/hooks";
import { setKey } from "../api.ts";

export function SignIn() {
  const [key, setValue] = useState("");
  const [error, setError] = useState("");
  return (
    <section class="narrow">
      <h1>Sign in</h1>
      <p>
        Paste an API key for your studio. <code>npm start</code> prints a link that signs the local account in.
      </p>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (!key.trim()) return setError("Paste an API key");
          setKey(key.trim());
        }}
      >
        <label for="apikey">API key</label>
        <input
          id="apikey"
          type="password"
          autoComplete="off"
          value={key}
          aria-invalid={!!error}
          aria-describedby={error ? "apikey-err" : undefined}
          onInput={(e) => {
            setValue(e.currentTarget.value);
            setError("");
          }}
        />
        {error && (
          <p id="apikey-err" class="field-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary">
          Sign in
        </button>
      </form>
    </section>
  );
}
