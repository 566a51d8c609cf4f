import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * A route hook (preHandler) for requests whose work may outlast the connection timeout (twice
 * TALLY_REQUEST_TIMEOUT_MS, 60 s by default): a GDPR erasure of a person with events over a year, a replay
 * of many failed events. That timeout closes a socket that carried nothing for so long — there to cut
 * clients that send slowly or not at all — and it closed these while the server was still working, so the
 * admin got no answer (an empty reply at 60 s) for an erasure that went on to finish, and might send it
 * again. Once the request has arrived whole and is authorised, the socket waits for the answer as long as
 * the work takes; the usual timeout applies again once it is sent.
 */
export async function keepConnectionWhileWorking(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const socket = request.raw.socket
  // Fastify's inject() hands a stand-in without timers: nothing to hold there.
  if (typeof socket?.setTimeout !== 'function') return
  const usual = request.server.server.timeout
  socket.setTimeout(0)
  reply.raw.once('finish', () => {
    if (!socket.destroyed) socket.setTimeout(usual)
  })
}
