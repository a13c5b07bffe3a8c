// The dashboard's frame: one page layout and style, and the small formatters its pages share.
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { TERMINAL_RUN_STATUSES } from "../types";

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export const live = (status: string) => !(TERMINAL_RUN_STATUSES as readonly string[]).includes(status);
export const ms = (n: number) => (n < 60_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.floor(n / 60_000)} min ${Math.round((n % 60_000) / 1000)} s`);
export const when = (t: number | null) => (t === null ? "" : new Date(t).toISOString().replace("T", " ").slice(0, 19));

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 72rem; padding: 0 1rem; color: #1d2733; }
a { color: #0b5cad; } table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e3e8ee; vertical-align: top; }
th { font-weight: 600; color: #52606d; } .bar { background: #e3e8ee; height: 10px; width: 140px; display: inline-block; border-radius: 3px; overflow: hidden; vertical-align: middle; }
.bar > span, .mini > span { display: block; height: 100%; background: #2f855a; } .bar > span.failing, .mini > span.failing { background: #c05621; }
.mini { background: #e3e8ee; height: 8px; width: 34px; display: inline-block; margin-right: 3px; border-radius: 2px; overflow: hidden; }
.status { font-weight: 600; } .succeeded { color: #2f855a; } .failed, .timed_out { color: #c53030; } .partial { color: #b7791f; } .running, .queued, .retrying { color: #2b6cb0; } .cancelled, .upstream_failed, .waiting { color: #52606d; }
code { font: 12px ui-monospace, monospace; } .err { color: #c53030; } nav a { margin-right: 1rem; } h1 small { font-weight: 400; color: #52606d; }`;

export function page(title: string, body: Html, refresh: boolean): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        ${refresh ? html`<meta http-equiv="refresh" content="2" />` : ""}
        <title>${title} · sluice</title>
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <nav><a href="/">Runs</a><a href="/flows">Flows</a><a href="/docs">API</a><a href="/openapi.json">OpenAPI</a></nav>
        ${body}
      </body>
    </html>`;
}
