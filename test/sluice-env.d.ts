// In the tests, `env` from "cloudflare:workers" is this repository's Worker's Env.
import type { Env as SluiceEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends SluiceEnv {
      SAMPLE_UPSTREAM_STATE: NonNullable<SluiceEnv["SAMPLE_UPSTREAM_STATE"]>;
    }
  }
}
