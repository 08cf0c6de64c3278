// One function per REST endpoint the UI uses (docs/protocol.md), so the
// store's modules never spell a path or a method themselves.
import { api } from './api.js'

const q = encodeURIComponent

// ---- session ----
export const getConfig = () => api('GET', '/config', undefined, { quiet401: true })
export const getMe = () => api('GET', '/me', undefined, { quiet401: true })
export const postSignup = (body) => api('POST', '/auth/signup', body, { quiet401: true })
export const postLogin = (username, password) => api('POST', '/auth/login', { username, password }, { quiet401: true })
export const postLogout = () => api('POST', '/auth/logout', undefined, { quiet401: true })
export const patchMe = (fields) => api('PATCH', '/me', fields)
export const getTokens = () => api('GET', '/me/tokens')
export const postToken = (body) => api('POST', '/me/tokens', body)
export const deleteToken = (id) => api('DELETE', `/me/tokens/${id}`)
export const getBots = () => api('GET', '/bots')
export const postBot = (body) => api('POST', '/bots', body)
export const deleteBot = (id) => api('DELETE', `/bots/${id}`)
export const postPassword = (current, next) => api('POST', '/me/password', { current_password: current, new_password: next })

// ---- sync, conversations, messages ----
export const getSync = (cursor) => api('GET', '/sync' + (cursor ? '?since=' + q(cursor) : ''))
export const getConversation = (id) => api('GET', `/conversations/${id}`)
export const postDirect = (userId) => api('POST', '/direct', { user_id: userId })
export const patchConversation = (id, flags) => api('PATCH', `/conversations/${id}`, flags)
export const postClear = (id) => api('POST', `/conversations/${id}/clear`)
export const deleteConversation = (id) => api('DELETE', `/conversations/${id}`)
export const getSearch = (params) => api('GET', '/search?' + new URLSearchParams(params))
export const getMessages = (id, params) => api('GET', `/conversations/${id}/messages?` + new URLSearchParams(params))
export const postMessage = (id, body) => api('POST', `/conversations/${id}/messages`, body)
export const getMessage = (id, seq) => api('GET', `/conversations/${id}/messages/${seq}`)
export const patchMessage = (id, seq, body) => api('PATCH', `/conversations/${id}/messages/${seq}`, { body })
export const deleteMessage = (id, seq) => api('DELETE', `/conversations/${id}/messages/${seq}`)
export const getRevisions = (id, seq) => api('GET', `/conversations/${id}/messages/${seq}/revisions`)
export const putReaction = (id, seq, emoji) => api('PUT', `/conversations/${id}/messages/${seq}/reactions/${q(emoji)}`)
export const deleteReaction = (id, seq, emoji) => api('DELETE', `/conversations/${id}/messages/${seq}/reactions/${q(emoji)}`)
export const deletePreviews = (id, seq) => api('DELETE', `/conversations/${id}/messages/${seq}/previews`)
export { upload } from './api.js'
export const getReceipts = (id) => api('GET', `/conversations/${id}/receipts`)
export const getReceiptCounts = (id, from, to) =>
  api('GET', `/conversations/${id}/receipt_counts?from=${from}` + (to ? `&to=${to}` : ''))
export const postReceipts = (id, body) => api('POST', `/conversations/${id}/receipts`, body)

// ---- push ----
export const getPushKey = () => api('GET', '/push/key', undefined, { quiet401: true })
export const postPushSubscription = (sub) => api('POST', '/push/subscriptions', sub)
export const deletePushSubscription = (endpoint) => api('DELETE', '/push/subscriptions', { endpoint })

// ---- people ----
export const getUsers = (query) => api('GET', '/users?q=' + q(query))
export const getContacts = () => api('GET', '/contacts')
export const postContact = (body) => api('POST', '/contacts', body)
export const patchContact = (userId, alias) => api('PATCH', `/contacts/${userId}`, { alias: alias || null })
export const deleteContact = (userId) => api('DELETE', `/contacts/${userId}`)
export const getPresence = (ids) => api('GET', '/presence?user_ids=' + ids.join(','))

// ---- groups ----
export const postGroup = (body) => api('POST', '/groups', body)
export const getGroup = (gid) => api('GET', `/groups/${gid}`)
export const patchGroup = (gid, fields) => api('PATCH', `/groups/${gid}`, fields)
export const deleteGroup = (gid) => api('DELETE', `/groups/${gid}`)
export const getMembers = (gid) => api('GET', `/groups/${gid}/members`)
export const postMember = (gid, userId) => api('POST', `/groups/${gid}/members`, { user_id: userId })
export const patchMember = (gid, userId, role) => api('PATCH', `/groups/${gid}/members/${userId}`, { role })
export const deleteMember = (gid, userId) => api('DELETE', `/groups/${gid}/members/${userId}`)
export const postTransfer = (gid, userId) => api('POST', `/groups/${gid}/transfer`, { user_id: userId })
export const postChannel = (gid, name) => api('POST', `/groups/${gid}/channels`, { name })
export const patchChannel = (gid, cid, name) => api('PATCH', `/groups/${gid}/channels/${cid}`, { name })
export const deleteChannel = (gid, cid) => api('DELETE', `/groups/${gid}/channels/${cid}`)
export const postInvite = (gid, opts) => api('POST', `/groups/${gid}/invites`, opts)
export const getInvites = (gid) => api('GET', `/groups/${gid}/invites`)
export const deleteInvite = (gid, code) => api('DELETE', `/groups/${gid}/invites/${q(code)}`)
export const getInvite = (code) => api('GET', `/invites/${q(code)}`)
export const postAcceptInvite = (code) => api('POST', `/invites/${q(code)}/accept`)

// ---- webhooks ----
export const getWebhooks = (cid) => api('GET', `/conversations/${cid}/webhooks`)
export const postWebhook = (cid, name) => api('POST', `/conversations/${cid}/webhooks`, { name })
export const deleteWebhook = (cid, id) => api('DELETE', `/conversations/${cid}/webhooks/${id}`)

// ---- moderation and administration ----
export const postReport = (id, seq, reason) => api('POST', `/conversations/${id}/messages/${seq}/report`, { reason })
export const getAdminUsers = (params) => api('GET', '/admin/users?' + new URLSearchParams(params))
export const patchAdminUser = (id, fields) => api('PATCH', `/admin/users/${id}`, fields)
export const getReports = (params) => api('GET', '/admin/reports?' + new URLSearchParams(params))
export const patchReport = (id, resolved) => api('PATCH', `/admin/reports/${id}`, { resolved })
export const getAudit = (params) => api('GET', '/admin/audit?' + new URLSearchParams(params))
export const getAdminServer = () => api('GET', '/admin/server')
