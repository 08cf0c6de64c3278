// The same chat and group tests, through nginx in front of two nodes in
// cluster mode (RabbitMQ, memcached, one PostgreSQL): see tests/serve-cluster.sh.
import { defineConfig } from '@playwright/test'
import base from './playwright.config.js'

const port = process.env.PARLEY_TEST_E2E_CLUSTER_PORT || '18791'
const baseURL = `http://127.0.0.1:${port}`

export default defineConfig({
  ...base,
  testMatch: ['chat.spec.js', 'groups.spec.js', 'messages.spec.js', 'files.spec.js', 'search.spec.js'],
  use: { ...base.use, baseURL },
  webServer: {
    ...base.webServer,
    command: `sh tests/serve-cluster.sh ${port}`,
    url: `${baseURL}/healthz`, // nginx keeps /readyz from the public
  },
})
