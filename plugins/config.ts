import fp from 'fastify-plugin'
import fastifyEnv from '@fastify/env'
import { EnvSchema, deriveConfig, type AppConfig, type Env } from '../lib/config.js'

declare module 'fastify' {
  interface FastifyInstance {
    env: Env
    config: AppConfig
  }
}

export interface ConfigPluginOptions {
  /** The environment to read; `process.env` (plus `.env`) when absent. */
  env?: Record<string, string | undefined>
}

export default fp<ConfigPluginOptions>(async function config (fastify, opts) {
  await fastify.register(fastifyEnv, {
    confKey: 'env',
    schema: EnvSchema,
    data: opts.env ?? process.env,
    dotenv: opts.env === undefined
  })
  fastify.decorate('config', deriveConfig(fastify.env))
}, { name: 'config', fastify: '5.x' })
