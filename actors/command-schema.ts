/**
 * Schema of trader commands, for every entry point that takes them from
 * outside (tapes, the gateway). The actor itself trusts its typed input.
 */
import { z } from 'zod';
import type { Command } from './types.js';

const id = z.string().min(1).max(64);
const price = z.number().positive().finite();

export const CommandSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('place'),
      clientOrderId: id,
      symbol: z.string().min(1).max(64),
      side: z.enum(['buy', 'sell']),
      type: z.enum(['market', 'limit', 'stop']),
      qty: z.number().positive().finite(),
      limitPrice: price.optional(),
      stopPrice: price.optional(),
      stopLoss: price.optional(),
      takeProfit: price.optional(),
      reduceOnly: z.boolean().optional(),
      tif: z.enum(['gtc', 'day']).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('modify'),
      orderId: id,
      qty: z.number().positive().finite().optional(),
      limitPrice: price.optional(),
      stopPrice: price.optional(),
    })
    .strict(),
  z.object({ kind: z.literal('cancel'), orderId: id }).strict(),
  z.object({ kind: z.literal('close-position'), symbol: z.string().min(1).max(64), clientOrderId: id }).strict(),
  z.object({ kind: z.literal('flatten') }).strict(),
  z.object({ kind: z.literal('pause') }).strict(),
  z.object({ kind: z.literal('resume') }).strict(),
  z.object({ kind: z.literal('abandon') }).strict(),
]);

/** Validate an untrusted command; the error names the bad fields. */
export function parseCommand(data: unknown): Command {
  return CommandSchema.parse(data) as Command;
}
