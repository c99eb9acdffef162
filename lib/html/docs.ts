import { html, type SafeHtml } from './escape.js'
import { layout } from './pages.js'

export interface DocsTool {
  name: string
  title: string
  scopes: readonly string[]
}

/**
 * The resource documentation RFC 9728 metadata points at: where the MCP endpoint is, how to get
 * a token, and which scopes each tool needs — all derived from the running service.
 */
export function docsPage (base: string, tools: readonly DocsTool[]): string {
  const rows: SafeHtml[] = tools.map(tool => html`<tr><td><code>${tool.name}</code></td><td>${tool.title}</td><td>${tool.scopes.map(s => html`<code>${s}</code> `)}</td></tr>`)
  return layout('MCP server', html`<h1 id="title">iam-mcp MCP server</h1>
<p>Identity and access management as MCP tools, protected by OAuth 2.1. Point an MCP client at the endpoint below; it discovers the rest from the first <code>401</code>.</p>
<h2>Endpoint</h2>
<p><code>POST ${base}/api/mcp</code> (Streamable HTTP, JSON answers; protocol versions 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05)</p>
<h2>Getting access</h2>
<ul>
<li>Protected resource metadata: <code>${base}/.well-known/oauth-protected-resource</code></li>
<li>Authorization server metadata: <code>${base}/.well-known/oauth-authorization-server</code></li>
<li>Dynamic client registration, then authorization code with PKCE (S256), or <code>client_credentials</code> for an application.</li>
<li>Send the access token as <code>Authorization: Bearer …</code>. Its scopes decide which tools are listed and callable; a missing scope answers <code>403 insufficient_scope</code> with the scope to ask for.</li>
</ul>
<h2>Tools and the scopes they need</h2>
<table>
<thead><tr><th scope="col">Tool</th><th scope="col">What it does</th><th scope="col">Scopes</th></tr></thead>
<tbody>${rows}</tbody>
</table>`, 'wide')
}
