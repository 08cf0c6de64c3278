// The one WebSocket: connects, reconnects with backoff, watches liveness
// with application pings, and hands every frame to the store.

let ws = null
let handlers = null
let attempt = 0
let reconnectTimer = null
let pingTimer = null
let lastFrameAt = 0
let wanted = false

const PING_EVERY = 25_000
const DEAD_AFTER = 40_000

export function connect(h) {
  handlers = h
  wanted = true
  open()
}

export function disconnect() {
  wanted = false
  clearTimeout(reconnectTimer)
  clearInterval(pingTimer)
  if (ws) {
    ws.onclose = null
    ws.close(1000, 'bye')
    ws = null
  }
}

export function isOpen() {
  return ws !== null && ws.readyState === WebSocket.OPEN && handlers !== null
}

// sendFrame sends a client frame; false when the socket is not open.
export function sendFrame(type, data) {
  if (!isOpen()) return false
  ws.send(JSON.stringify({ type, data }))
  return true
}

// reconnectNow drops a socket that looks dead and starts again at once.
export function reconnectNow() {
  if (!wanted) return
  attempt = 0
  if (ws) {
    ws.onclose = null
    ws.close()
    ws = null
  }
  handlers.onStatus('reconnecting')
  open()
}

function open() {
  clearTimeout(reconnectTimer)
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const sock = new WebSocket(`${proto}//${location.host}/api/v1/ws`)
  ws = sock
  sock.onmessage = (ev) => {
    lastFrameAt = Date.now()
    let f
    try {
      f = JSON.parse(ev.data)
    } catch {
      return
    }
    if (f.type === 'hello') {
      attempt = 0
      handlers.onStatus('online')
    }
    handlers.onFrame(f)
  }
  sock.onopen = () => {
    lastFrameAt = Date.now()
    clearInterval(pingTimer)
    pingTimer = setInterval(() => {
      if (Date.now() - lastFrameAt > DEAD_AFTER) {
        reconnectNow()
        return
      }
      sendFrame('ping', {})
    }, PING_EVERY)
  }
  sock.onclose = (ev) => {
    clearInterval(pingTimer)
    if (ws !== sock) return
    ws = null
    if (!wanted) return
    if (ev.code === 4001) {
      handlers.onSessionEnded()
      return
    }
    handlers.onStatus('reconnecting')
    const delay = Math.min(30_000, 500 * 2 ** attempt) * (0.75 + Math.random() / 2)
    attempt = Math.min(attempt + 1, 8)
    reconnectTimer = setTimeout(open, delay)
  }
}

// The browser knows the network is gone: say so now, and try again at once
// when it is back, instead of waiting for a ping to time out.
window.addEventListener('offline', () => {
  if (wanted && ws) {
    ws.close()
  }
})
window.addEventListener('online', () => {
  if (wanted && !isOpen()) reconnectNow()
})
