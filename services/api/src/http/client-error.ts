/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers over the size limit,
 * malformed request lines or headers) still get a problem+json answer, like every other error:
 * 431 for oversized headers, 400 otherwise. The connection is closed after the answer.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { GantryError, toProblem } from '@gantry/contracts';
import { PROBLEM_CONTENT_TYPE } from '../problems.js';

/** Fastify's `clientErrorHandler`: answers a parser error with a problem document. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const overflow = err.code === 'HPE_HEADER_OVERFLOW';
  const status = overflow ? 431 : 400;
  const error = overflow
    ? new GantryError('PAYLOAD_TOO_LARGE', 'the request headers are larger than the server accepts')
    : new GantryError('VALIDATION_FAILED', 'the request is not valid HTTP');
  const body = JSON.stringify({ ...toProblem(error), status });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
