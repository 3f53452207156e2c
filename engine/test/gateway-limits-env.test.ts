import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayLimitsFromEnv } from '../main/compose-gateway.js';

test('GATEWAY_ADDRESS_REQUESTS_PER_MINUTE sets the HTTP request budget per address; unset leaves the default; a bad value is refused naming the variable', () => {
  assert.deepEqual(gatewayLimitsFromEnv({ GATEWAY_ADDRESS_REQUESTS_PER_MINUTE: '1200', GATEWAY_ADDRESS_CONNECTIONS_PER_MINUTE: '500' }), {
    addressRequestsPerMinute: 1200,
    addressConnectionsPerMinute: 500,
  });
  assert.deepEqual(gatewayLimitsFromEnv({}), {});
  assert.throws(() => gatewayLimitsFromEnv({ GATEWAY_ADDRESS_REQUESTS_PER_MINUTE: '0' }), /GATEWAY_ADDRESS_REQUESTS_PER_MINUTE/);
  assert.throws(() => gatewayLimitsFromEnv({ GATEWAY_ADDRESS_REQUESTS_PER_MINUTE: 'lots' }), /GATEWAY_ADDRESS_REQUESTS_PER_MINUTE/);
});
