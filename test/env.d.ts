// `exports` from "cloudflare:workers" in tests: the Worker's default export as a service.
declare namespace Cloudflare {
  interface Exports {
    default: Fetcher;
  }
}
declare module "*.toml?raw" {
  const text: string;
  export default text;
}
declare module "*.md?raw" { const text: string; export default text; }
declare module "*.ts?raw" { const text: string; export default text; }
