// Message bodies as Markdown (docs/protocol.md: bodies are stored verbatim,
// clients render them): markdown-it with raw HTML off, bare URLs linked,
// links opening in a new tab, and @mentions marked; DOMPurify cleans the
// result again as a second layer. Previews in lists get plain text.
import MarkdownIt from 'markdown-it'
import DOMPurify from 'dompurify'

const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false })
md.disable(['heading', 'lheading', 'hr', 'table', 'image', 'reference'])

// links open in a new tab, and tell the target nothing: set on what
// DOMPurify lets through, as its documentation advises
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer')
  }
})

// @name in text (never in code) becomes a mention; one of the reader is marked
const mentionRe = /(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{3,32}|all|here|channel)(?![A-Za-z0-9_])/g
md.core.ruler.push('mentions', (state) => {
  for (const block of state.tokens) {
    if (block.type !== 'inline') continue
    const out = []
    let inLink = 0
    for (const t of block.children) {
      if (t.type === 'link_open') inLink++
      if (t.type === 'link_close') inLink--
      if (t.type !== 'text' || inLink || !t.content.includes('@')) {
        out.push(t)
        continue
      }
      let last = 0
      for (const m of t.content.matchAll(mentionRe)) {
        const at = m.index + m[1].length
        if (at > last) out.push(text(state, t.content.slice(last, at)))
        const name = m[2].replace(/[.-]+$/, '') || m[2]
        const tok = new state.Token('mention', '', 0)
        tok.content = name
        out.push(tok)
        last = at + 1 + name.length
      }
      if (last < t.content.length) out.push(text(state, t.content.slice(last)))
    }
    block.children = out
  }
})

function text(state, content) {
  const t = new state.Token('text', '', 0)
  t.content = content
  return t
}

md.renderer.rules.mention = (tokens, i, options, env) => {
  const name = tokens[i].content.toLowerCase()
  const everyone = ['all', 'here', 'channel'].includes(name)
  const me = everyone || name === env.me
  return `<span class="mention${me ? ' mention-me' : ''}" data-mention="${md.utils.escapeHtml(name)}">@${md.utils.escapeHtml(tokens[i].content)}</span>`
}

// render turns a body into safe HTML; me is the reader's username.
export function render(body, me) {
  const html = md.render(body || '', { me: (me || '').toLowerCase() })
  return DOMPurify.sanitize(html, { ALLOWED_URI_REGEXP: /^(?:https?|mailto):/i })
}

// plain is a body as one line of text, for the conversation list.
export function plain(body) {
  return (body || '')
    .replace(/```[\s\S]*?```/g, ' [code] ')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__|~~|\*|_)(\S(?:.*?\S)?)\1/g, '$2')
    .replace(/^\s*(>|[-*+]|\d+\.)\s+/gm, '')
    .replace(/\s+/g, ' ')
    .trim()
}
