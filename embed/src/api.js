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

// upload posts one file as multipart/form-data with XMLHttpRequest, the one
// browser API that reports upload progress. onProgress gets 0..1; the
// returned promise has abort(), which rejects it with code 'aborted'.
export function upload(file, onProgress) {
  const xhr = new XMLHttpRequest()
  const p = new Promise((resolve, reject) => {
    xhr.open('POST', '/api/v1/uploads')
    xhr.withCredentials = true
    xhr.responseType = 'json'
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total)
    xhr.onload = () => {
      const data = xhr.response
      if (xhr.status === 201 && data && data.upload) return resolve(data.upload)
      const e = data && data.error
      if (xhr.status === 401) onUnauthenticated()
      reject(new ApiError(xhr.status, e ? e.code : 'http_' + xhr.status, e ? e.message : `The server answered ${xhr.status}.`, e?.field))
    }
    xhr.onerror = () => reject(new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.'))
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'Upload canceled.'))
    const form = new FormData()
    form.append('file', file, file.name || 'pasted')
    xhr.send(form)
  })
  p.abort = () => xhr.abort()
  return p
}
