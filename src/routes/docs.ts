// /openapi.json and /docs: the API reference, rendered on the server from the same document.
import { Hono } from "hono";
import { html, raw } from "hono/html";
import { openApiDocument } from "../api/openapi";
import type { Api } from "../http/context";

type Operation = {
  summary?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string }>;
  security?: unknown[];
};

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

export const docs = new Hono<Api>()
  .get("/openapi.json", (c) => c.json(openApiDocument(c.var.catalog.runnable(c.env), c.var.catalog.runnableFlows(c.env))))
  .get("/docs", (c) => {
    const doc = openApiDocument(c.var.catalog.runnable(c.env), c.var.catalog.runnableFlows(c.env)) as {
      info: { title: string; description: string };
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, unknown> };
    };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
    return c.html(
      html`<!doctype html>
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <title>sluice API reference</title>
            <style>
              body {
                font:
                  15px/1.5 system-ui,
                  sans-serif;
                margin: 2rem auto;
                max-width: 60rem;
                padding: 0 1rem;
                color: #1d2733;
              }
              code,
              pre {
                font:
                  13px ui-monospace,
                  monospace;
              }
              pre {
                background: #f4f6f8;
                padding: 0.75rem;
                overflow-x: auto;
              }
              .op {
                border-top: 1px solid #dde3e9;
                padding: 0.75rem 0;
              }
              .method {
                font-weight: 700;
                text-transform: uppercase;
                display: inline-block;
                width: 4.5rem;
              }
              .lock {
                color: #a15c00;
                font-size: 12px;
              }
              table {
                border-collapse: collapse;
              }
              td {
                padding: 2px 12px 2px 0;
                vertical-align: top;
              }
            </style>
          </head>
          <body>
            <h1>${doc.info.title} API</h1>
            <p>${doc.info.description} Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). <a href="/">Dashboard</a>.</p>
            ${operations.map(
              ({ path, method, op }) =>
                html`<div class="op" id="${method}-${path}">
                  <div><span class="method">${method}</span><code>${path}</code> ${op.security ? html`<span class="lock">needs token</span>` : ""}</div>
                  <p>${op.summary ?? ""}</p>
                  ${
                    op.parameters?.length
                      ? html`<table>
                          ${op.parameters.map(
                            (p) =>
                              html`<tr>
                                <td><code>${p.name}</code></td>
                                <td>${p.in}${p.required ? ", required" : ""}</td>
                                <td><code>${JSON.stringify(p.schema)}</code></td>
                              </tr>`,
                          )}
                        </table>`
                      : ""
                  }
                  ${
                    op.requestBody
                      ? html`<details>
                          <summary>Request body</summary>
                          <pre>${pretty(Object.values(op.requestBody.content)[0]?.schema)}</pre>
                        </details>`
                      : ""
                  }
                  <table>
                    ${Object.entries(op.responses).map(
                      ([status, r]) =>
                        html`<tr>
                          <td><code>${status}</code></td>
                          <td>${r.description}</td>
                        </tr>`,
                    )}
                  </table>
                </div>`,
            )}
            <h2>Schemas</h2>
            ${Object.entries(doc.components.schemas).map(
              ([name, s]) =>
                html`<details id="schema-${name}">
                  <summary><code>${name}</code></summary>
                  <pre>${raw(pretty(s).replace(/</g, "&lt;"))}</pre>
                </details>`,
            )}
          </body>
        </html>`,
    );
  });
