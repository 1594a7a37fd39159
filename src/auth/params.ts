import type { Context } from 'koa';
import { BadRequestError } from '../errors.ts';

/**
 * Reads one query parameter. A repeated parameter, an over-long one or a missing required one
 * is a 400 BAD_REQUEST; the message names the parameter, never echoes its value.
 */

export const MAX_PARAM_LENGTH = 2048;

export interface ParamRule {
  required?: boolean;
  maxLength?: number;
}

export function queryParam(ctx: Context, name: string, rule: ParamRule & { required: true }): string;
export function queryParam(ctx: Context, name: string, rule?: ParamRule): string | undefined;
export function queryParam(ctx: Context, name: string, rule: ParamRule = {}): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new BadRequestError(`Parameter "${name}" was given more than once`);
  if (value !== undefined && value.length > (rule.maxLength ?? MAX_PARAM_LENGTH)) throw new BadRequestError(`Parameter "${name}" is too long`);
  if (rule.required && (value === undefined || value === '')) throw new BadRequestError(`Parameter "${name}" is required`);
  return value === '' ? undefined : value;
}
