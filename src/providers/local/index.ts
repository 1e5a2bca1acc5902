export { LocalProvider, type LocalProviderOptions, type NodeRecord } from './provider.js';
export { DEFAULT_ADDRESS_BASE, isLoopback, parseRange } from './addresses.js';
