// The CommonJS form `pm2 init simple` writes, with the keys most files use.
module.exports = {
  apps: [{
    name: 'http-api',
    script: 'apps/http.js',
    exec_mode: 'cluster',
    instances: 2,
    max_memory_restart: '260M',
    watch: false,
    env: { NODE_ENV: 'development' },
    env_production: { NODE_ENV: 'production' },
  }, {
    name: 'worker',
    script: './apps/worker.js',
    error_file: 'worker-err.log',
    env: { NODE_ENV: 'development' },
    env_production: { NODE_ENV: 'production' },
  }, {
    name: 'checks',
    script: 'apps/check.sh',
    env_production: { NODE_ENV: 'production' },
  }],
  deploy: {
    production: { user: 'node', host: 'example.invalid', ref: 'origin/main', repo: 'git@example.invalid:app.git', path: '/srv/app' },
  },
};
