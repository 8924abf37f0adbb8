// @medplum/core 5.x reads WebSocket.CLOSING/CLOSED at module load. Node 20 only has a global
// WebSocket with --experimental-websocket (Node >= 22 always has one). This server never opens a
// WebSocket, so when the global is missing a placeholder that throws on use is installed instead.
// Must be imported before any @medplum module.
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = class WebSocketUnavailable {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;
    constructor() {
      throw new Error('WebSocket is not available: run node with --experimental-websocket (Node 20)');
    }
  };
}
