/**
 * NATS JetStream transport: the subject scheme, the market stream and its
 * tick publisher, the ordered-consumer tick source feeding the engine, and the
 * domain-event publisher behind the engine's `EngineOutput`.
 */
export {
  DOMAIN_EVENT_SUBJECTS,
  INSTRUMENTS_PREFIX,
  RESOLUTIONS_PREFIX,
  TICKS_PREFIX,
  decodeToken,
  domainEventSubjects,
  encodeToken,
  eventSubject,
  marketSubjects,
  parseMarketSubject,
  instrumentSubject,
  resolutionSubject,
  tickSubject,
  withNamespace,
} from './subjects.js';
export type { DomainEventSubject, ParsedMarketSubject } from './subjects.js';
export {
  DEFAULT_DUPLICATE_WINDOW_MS,
  DEFAULT_MARKET_STREAM,
  InvalidMarketInputError,
  TickPublisher,
  ensureMarketStream,
  ensureStream,
  instrumentMsgId,
  resolutionMsgId,
  tickMsgId,
} from './market-stream.js';
export type {
  ResolutionMessage,
  ResolutionPayload,
  StreamOptions,
  TickMessage,
  TickPayload,
  TickPublisherOptions,
} from './market-stream.js';
export { JetStreamTickSource } from './tick-consumer.js';
export type { JetStreamTickSourceOptions, MalformedKind, MalformedMessage, MarketInput } from './tick-consumer.js';
export { DEFAULT_EVENTS_STREAM, JetStreamEventPublisher, ensureEventStream, eventMsgId } from './event-publisher.js';
export type { EventPublishFailure, JetStreamEventPublisherOptions } from './event-publisher.js';

export { followAssessmentCreations } from './assessment-directory.js';
export { JetStreamHistoryConsumer } from './history-consumer.js';
export { cutTape, rebuildHistory } from './history-rebuild.js';
export { IntakeService, intakeSubjects } from './intake-service.js';
export type { InspectReply } from './intake-service.js';
export { JetStreamMarketLog } from './jetstream-market-log.js';
export { RemoteStreams } from './remote-streams.js';
export type { DropReason, RemoteStreamsOptions } from './remote-streams.js';
export { natsServer } from './nats-server-url.js';
export { inboxPrefixOf, NATS_ROLES, natsPermissions } from './nats-permissions.js';
export type { NatsRole, NatsUserPermissions } from './nats-permissions.js';
export type { NatsServerOptions } from './nats-server-url.js';
export { countedWatch } from './shard-host.js';
export type { ShardHost } from './shard-host.js';
export { ShardRouter } from './shard-router.js';
export { ShardService } from './shard-service.js';
export { shardSubjects } from './shard-subjects.js';
