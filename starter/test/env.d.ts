// `exports` from "cloudflare:workers" in tests: the Worker's default export; `?raw` imports as text.
declare namespace Cloudflare {
  interface Exports {
    default: Fetcher;
  }
}
declare module "*.toml?raw" {
  const text: string;
  export default text;
}
