package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/parleychat/parley/server/chat"
)

// routes is every route on one screen.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.withRequest, s.observe, s.recoverPanics)
	r.NotFound(s.handleUI)
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { s.respondError(w, r, errMethod) })
	ok, made := http.StatusOK, http.StatusCreated

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Get("/metrics", s.handleMetrics)
	// incoming webhooks, outside /api/v1 like Slack's: the secret in the
	// path is the credential, so no cookie and no Origin matter
	r.With(s.bounded).Post("/hooks/{secret}", s.handleHook)

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.checkOrigin)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.respondError(w, r, chat.ErrNotFound) })

		r.Get("/config", s.handleConfig)
		r.Get("/openapi.json", s.handleOpenAPI)
		r.With(s.bounded).Post("/auth/signup", s.handleSignup)
		r.With(s.bounded).Post("/auth/login", s.handleLogin)

		// uploads are bounded by a rate instead (handle_files.go); files
		// answer 404 to anyone who may not read them, logged in or not
		r.With(s.requireUser).Post("/uploads", s.handleUpload)
		r.Group(func(r chi.Router) {
			r.Use(s.requireUserOr404) // downloads take as long as they take
			r.Get("/files/{id}/{name}", s.handleFile)
			r.Get("/thumbnails/{id}", s.handleThumbnail)
			r.Get("/conversations/{id}/messages/{seq}/previews/{n}/image", s.handlePreviewImage)
		})

		r.Group(func(r chi.Router) {
			r.Use(s.bounded, s.requireUser)
			r.Post("/auth/logout", s.handleLogout)
			r.Get("/me", endpoint(s, ok, s.me))
			r.Patch("/me", endpoint(s, ok, s.updateMe))
			r.Post("/me/password", endpoint(s, ok, s.changePassword))
			r.Get("/me/tokens", endpoint(s, ok, s.listTokens))
			r.Post("/me/tokens", endpoint(s, made, s.createToken))
			r.Delete("/me/tokens/{id}", endpoint(s, ok, s.revokeToken))
			r.Get("/bots", endpoint(s, ok, s.listBots))
			r.Post("/bots", endpoint(s, made, s.createBot))
			r.Delete("/bots/{id}", endpoint(s, ok, s.deleteBot))

			r.Get("/users", endpoint(s, ok, s.searchUsers))
			r.Get("/search", endpoint(s, ok, s.search))
			r.Get("/push/key", endpoint(s, ok, s.pushKey))
			r.Post("/push/subscriptions", endpoint(s, ok, s.subscribePush))
			r.Delete("/push/subscriptions", endpoint(s, ok, s.unsubscribePush))
			r.Get("/contacts", endpoint(s, ok, s.listContacts))
			r.Post("/contacts", endpoint(s, made, s.addContact))
			r.Patch("/contacts/{user_id}", endpoint(s, ok, s.updateContact))
			r.Delete("/contacts/{user_id}", endpoint(s, ok, s.deleteContact))

			r.Get("/conversations", endpoint(s, ok, s.listConversations))
			r.Post("/direct", endpoint(s, ok, s.direct))
			r.Get("/conversations/{id}", endpoint(s, ok, s.getConversation))
			r.Patch("/conversations/{id}", endpoint(s, ok, s.patchConversation))
			r.Delete("/conversations/{id}", endpoint(s, ok, s.clearConversation(true)))
			r.Post("/conversations/{id}/clear", endpoint(s, ok, s.clearConversation(false)))
			r.Get("/conversations/{id}/messages", endpoint(s, ok, s.listMessages))
			r.Post("/conversations/{id}/messages", endpoint(s, ok, s.sendMessage))
			r.Get("/conversations/{id}/messages/{seq}", endpoint(s, ok, s.getMessage))
			r.Patch("/conversations/{id}/messages/{seq}", endpoint(s, ok, s.editMessage))
			r.Delete("/conversations/{id}/messages/{seq}", endpoint(s, ok, s.deleteMessage))
			r.Get("/conversations/{id}/messages/{seq}/revisions", endpoint(s, ok, s.listRevisions))
			r.Put("/conversations/{id}/messages/{seq}/reactions/{emoji}", endpoint(s, ok, s.react(true)))
			r.Delete("/conversations/{id}/messages/{seq}/reactions/{emoji}", endpoint(s, ok, s.react(false)))
			r.Delete("/conversations/{id}/messages/{seq}/previews", endpoint(s, ok, s.removePreviews))
			r.Post("/conversations/{id}/messages/{seq}/report", endpoint(s, made, s.reportMessage))
			r.Get("/conversations/{id}/webhooks", endpoint(s, ok, s.listWebhooks))
			r.Post("/conversations/{id}/webhooks", endpoint(s, made, s.createWebhook))
			r.Delete("/conversations/{id}/webhooks/{webhook_id}", endpoint(s, ok, s.deleteWebhook))

			r.Get("/conversations/{id}/receipts", endpoint(s, ok, s.listReceipts))
			r.Post("/conversations/{id}/receipts", endpoint(s, ok, s.postReceipts))
			r.Get("/conversations/{id}/receipt_counts", endpoint(s, ok, s.receiptCounts))

			r.Get("/groups", endpoint(s, ok, s.listGroups))
			r.Post("/groups", endpoint(s, made, s.createGroup))
			r.Get("/groups/{id}", endpoint(s, ok, s.getGroup))
			r.Patch("/groups/{id}", endpoint(s, ok, s.patchGroup))
			r.Delete("/groups/{id}", endpoint(s, ok, s.deleteGroup))
			r.Get("/groups/{id}/members", endpoint(s, ok, s.listMembers))
			r.Post("/groups/{id}/members", endpoint(s, made, s.addMember))
			r.Patch("/groups/{id}/members/{user_id}", endpoint(s, ok, s.patchMember))
			r.Delete("/groups/{id}/members/{user_id}", endpoint(s, ok, s.removeMember))
			r.Post("/groups/{id}/transfer", endpoint(s, ok, s.transfer))
			r.Post("/groups/{id}/channels", endpoint(s, made, s.createChannel))
			r.Patch("/groups/{id}/channels/{channel_id}", endpoint(s, ok, s.renameChannel))
			r.Delete("/groups/{id}/channels/{channel_id}", endpoint(s, ok, s.deleteChannel))
			r.Get("/groups/{id}/invites", endpoint(s, ok, s.listInvites))
			r.Post("/groups/{id}/invites", endpoint(s, made, s.createInvite))
			r.Delete("/groups/{id}/invites/{code}", endpoint(s, ok, s.revokeInvite))
			r.Get("/invites/{code}", endpoint(s, ok, s.previewInvite))
			r.Post("/invites/{code}/accept", endpoint(s, ok, s.acceptInvite))

			r.Get("/sync", endpoint(s, ok, s.sync))
			r.Get("/presence", endpoint(s, ok, s.presence))

			r.Get("/admin/users", endpoint(s, ok, s.adminUsers))
			r.Patch("/admin/users/{id}", endpoint(s, ok, s.adminUpdateUser))
			r.Get("/admin/reports", endpoint(s, ok, s.adminReports))
			r.Patch("/admin/reports/{id}", endpoint(s, ok, s.adminResolveReport))
			r.Get("/admin/audit", endpoint(s, ok, s.adminAudit))
			r.Get("/admin/server", endpoint(s, ok, s.adminServer))
		})
		r.Get("/ws", s.handleWS) // authenticates itself, before upgrading
	})
	return r
}

// RouteList is every route as "METHOD /pattern" (the OpenAPI test checks
// each is in the document).
func (s *Server) RouteList() []string {
	var out []string
	_ = chi.Walk(s.routes().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, method+" "+route)
		return nil
	})
	return out
}
