/** A tiny history router: the path as a signal, links that push instead of reloading. */
import { signal } from "@preact/signals";

export const path = signal(location.pathname);
addEventListener("popstate", () => (path.value = location.pathname));

export function navigate(to: string) {
  if (to === location.pathname + location.search) return;
  history.pushState(null, "", to);
  path.value = location.pathname;
  scrollTo(0, 0);
}

/** Click handler for <a href>: same-origin left clicks navigate in place. */
export function linkClick(e: MouseEvent) {
  const a = e.currentTarget as HTMLAnchorElement;
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  e.preventDefault();
  navigate(a.getAttribute("href")!);
}
