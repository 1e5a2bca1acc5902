// Response schemas of the API's own objects (operations, events) that have no place in domain/wire.ts.
import { Type } from '@sinclair/typebox';

export const OperationSchema = Type.Object({}, { title: 'Operation', additionalProperties: true, description: 'An operation: kind, status, steps, error' });
export const EventSchema = Type.Object({}, { title: 'Event', additionalProperties: true, description: 'An event: ID, Time, Level, Phase, Node, Service, Message' });
