// A small IndexedDB cache of conversations and recent messages, per user,
// so a reload renders at once; /sync then brings it up to date.
const DB = 'parley'
const STORE = 'kv'

function open() {
  return new Promise((resolve, reject) => {
    if (!('indexedDB' in window)) return reject(new Error('no IndexedDB'))
    const req = indexedDB.open(DB, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE)
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

async function tx(mode, fn) {
  const db = await open()
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode)
      const result = fn(t.objectStore(STORE))
      t.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined)
      t.onerror = () => reject(t.error)
      t.onabort = () => reject(t.error)
    })
  } finally {
    db.close()
  }
}

export async function cacheLoad(userId) {
  try {
    return (await tx('readonly', (s) => s.get('user:' + userId))) || null
  } catch {
    return null
  }
}

export async function cacheSave(userId, snapshot) {
  try {
    await tx('readwrite', (s) => s.put(snapshot, 'user:' + userId))
  } catch {
    /* private mode or quota: the cache is only a speed-up */
  }
}

export async function cacheClear() {
  try {
    await tx('readwrite', (s) => s.clear())
  } catch {
    /* nothing to clear */
  }
}
