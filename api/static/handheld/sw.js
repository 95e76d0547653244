// The handheld's service worker: it keeps the app shell (page, scripts, styles, icons) so
// that the app starts and reloads with no network at all. The server writes in the shell's
// version (a hash of its files) and the list of files: a changed file is a new worker with
// a fresh cache. The sync API is never cached: the outbox in IndexedDB handles offline.
const VERSION = "__SHELL_VERSION__";
const SHELL = [__SHELL_ASSETS__];
const CACHE = `kilowatch-handheld-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((k) => k.startsWith("kilowatch-handheld-") && k !== CACHE).map((k) => caches.delete(k)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  // Any page of the app (a deep link, a reload with a #route) is the one shell page.
  const key = request.mode === "navigate" && url.pathname.startsWith("/handheld") ? "/handheld/" : url.pathname;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => (await cache.match(key)) || fetch(request)),
  );
});
