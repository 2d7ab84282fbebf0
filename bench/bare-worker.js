// The floor for any proxy on this runtime: forward the request to the upstream
// unchanged (method, headers, body) and hand back the upstream's response as is,
// streamed bodies included. `env.UPSTREAM` is the upstream's origin, e.g.
// "http://127.0.0.1:8790"; the incoming path and query are appended to it.
// Whatever a gateway spends above this worker is the gateway's own cost.
export default {
  /** @param {Request} request @param {{ UPSTREAM: string }} env */
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(new Request(env.UPSTREAM + url.pathname + url.search, request));
  },
};
