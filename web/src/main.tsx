/** Entry: sign-in from the URL fragment, then the page for the current path. */
import { render } from "preact";
import { lazy, Suspense } from "preact/compat";
import { adoptKeyFromFragment, apiKey, setKey } from "./api.ts";
import { linkClick, path } from "./router.ts";
import { ShootsPage } from "./pages/Shoots.tsx";
import { SignIn } from "./pages/SignIn.tsx";
import "./styles.css";

// Heavier pages load on demand, so the first paint needs only the list and the shell.
const NewShootPage = lazy(() => import("./pages/NewShoot.tsx").then((m) => m.NewShootPage));
const ShootPage = lazy(() => import("./pages/Shoot.tsx").then((m) => m.ShootPage));
const BatchesPage = lazy(() => import("./pages/Batches.tsx").then((m) => m.BatchesPage));
const BatchPage = lazy(() => import("./pages/batches/BatchPage.tsx").then((m) => m.BatchPage));
const ReviewLinkPage = lazy(() => import("./pages/ReviewLink.tsx").then((m) => m.ReviewLinkPage));

adoptKeyFromFragment();

function App() {
  const p = path.value;
  const review = /^\/review\/([^/]+)$/.exec(p);
  if (review) {
    return (
      <Shell signedIn={false}>
        <Suspense fallback={<p role="status">Loading…</p>}>
          <ReviewLinkPage token={review[1]} />
        </Suspense>
      </Shell>
    );
  }
  if (!apiKey.value) {
    return (
      <Shell signedIn={false}>
        <SignIn />
      </Shell>
    );
  }
  const shoot = /^\/shoots\/([^/]+)$/.exec(p);
  const batch = /^\/batches\/([^/]+)$/.exec(p);
  return (
    <Shell signedIn>
      <Suspense fallback={<p role="status">Loading…</p>}>
        {shoot ? (
          <ShootPage id={shoot[1]} />
        ) : batch ? (
          <BatchPage id={batch[1]} />
        ) : p === "/batches" ? (
          <BatchesPage />
        ) : p === "/new" ? (
          <NewShootPage />
        ) : p === "/" ? (
          <ShootsPage />
        ) : (
          <NotFound />
        )}
      </Suspense>
    </Shell>
  );
}

function Shell({ signedIn, children }: { signedIn: boolean; children: preact.ComponentChildren }) {
  return (
    <>
      <header class="top">
        <a href="/" class="brand" onClick={linkClick}>
          Atelier
        </a>
        {signedIn && (
          <nav aria-label="Main">
            <a href="/" onClick={linkClick} aria-current={path.value === "/" ? "page" : undefined}>
              Shoots
            </a>
            <a href="/new" onClick={linkClick} aria-current={path.value === "/new" ? "page" : undefined}>
              New shoot
            </a>
            <a href="/batches" onClick={linkClick} aria-current={path.value.startsWith("/batches") ? "page" : undefined}>
              Batches
            </a>
            <button type="button" class="link" onClick={() => setKey(null)}>
              Sign out
            </button>
          </nav>
        )}
      </header>
      <main id="main">{children}</main>
    </>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <a href="/" onClick={linkClick}>
          Back to the shoots
        </a>
      </p>
    </section>
  );
}

render(<App />, document.getElementById("app")!);
