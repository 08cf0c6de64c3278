// The one place that talks HTTP to the server. Errors come back as ApiError
// with the protocol's code, message and field.

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
  }
}

let onUnauthenticated = () => {}
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn
}

export async function api(method, path, body, { quiet401 = false } = {}) {
  const init = { method, credentials: 'same-origin', headers: {} }
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  let res
  try {
    res = await fetch('/api/v1' + path, init)
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.')
  }
  if (res.status === 204) return null
  let data = null
  try {
    data = await res.json()
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = data && data.error
    const err = new ApiError(
      res.status,
      e ? e.code : 'http_' + res.status,
      e ? e.message : `The server answered ${res.status}.`,
      e ? e.field : undefined,
    )
    if (res.status === 429) {
      const after = res.headers.get('Retry-After')
      if (after) err.message = `Too many attempts. Try again in ${after} s.`
    }
    if (res.status === 401 && !quiet401) onUnauthenticated()
    throw err
  }
  return data
}
