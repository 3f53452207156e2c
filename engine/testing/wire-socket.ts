/**
 * A minimal RFC 6455 WebSocket client on `node:net` for benches and soak
 * runs: the upgrade handshake, then frames parsed straight off each read
 * (server frames are unmasked), masked frames out, pings answered, a close
 * answered and reported. No stream layers: thousands of these cost their
 * process little.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect as tcp, type Socket } from 'node:net';

/** Every socket reads into this buffer (`onread`: no stream layer, no buffer per read); what must outlive a read is copied. */
const READ_BUFFER = Buffer.alloc(256 * 1024);

/**
 * A WebSocket client on a raw socket: the upgrade handshake, then frames
 * parsed straight off each read (server frames are unmasked), masked frames
 * out, pings answered, a close answered and reported.
 */
export class WireSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = WireSocket.CONNECTING;
  onMessage: (data: Buffer) => void = () => undefined;
  onClose: (code: number, reason: string) => void = () => undefined;
  readonly #socket: Socket;
  #rest: Buffer | undefined;
  #fragments: Buffer[] | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Connect and upgrade; resolves once the server accepted `protocol`. */
  static open(url: string, protocol: string): Promise<WireSocket> {
    const u = new URL(url),
      key = randomBytes(16).toString('base64');
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    let onBytes: (chunk: Buffer) => void = () => undefined;
    const socket = tcp({
      host: u.hostname,
      port: Number(u.port),
      onread: {
        buffer: READ_BUFFER,
        callback: (n) => {
          onBytes(READ_BUFFER.subarray(0, n));
          return true;
        },
      },
    });
    socket.setNoDelay(true);
    const ws = new WireSocket(socket);
    return new Promise((resolve, reject) => {
      let head = Buffer.alloc(0);
      onBytes = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = head.subarray(0, end).toString('latin1').split('\r\n');
        const header = (name: string) =>
          lines
            .find((l) => l.toLowerCase().startsWith(`${name}:`))
            ?.slice(name.length + 1)
            .trim();
        if (
          !/^HTTP\/1\.1 101 /.test(lines[0]!) ||
          header('sec-websocket-accept') !== accept ||
          header('sec-websocket-protocol') !== protocol
        ) {
          socket.destroy();
          return reject(new Error(`upgrade refused: ${lines[0]}`));
        }
        ws.readyState = WireSocket.OPEN;
        onBytes = (c) => ws.#read(c);
        resolve(ws);
        if (head.length > end + 4) ws.#read(head.subarray(end + 4));
      };
      socket.once('error', reject);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (ws.readyState !== WireSocket.CLOSED) ws.onClose(1006, 'socket closed');
        ws.readyState = WireSocket.CLOSED;
      });
      socket.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
      );
    });
  }

  send(data: Uint8Array, opcode = 0x2): void {
    if (this.readyState !== WireSocket.OPEN && opcode !== 0x8) return;
    const len = data.length,
      h = len < 126 ? 2 : len < 65_536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(h + 4 + len);
    frame[0] = 0x80 | opcode;
    if (h === 2) frame[1] = 0x80 | len;
    else if (h === 4) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(len), 2);
    }
    randomBytes(4).copy(frame, h);
    for (let k = 0; k < len; k++) frame[h + 4 + k] = data[k]! ^ frame[h + (k & 3)]!;
    this.#socket.write(frame);
  }

  close(code: number, reason: string): void {
    if (this.readyState !== WireSocket.OPEN) return;
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code);
    body.write(reason, 2);
    this.send(body, 0x8);
    this.readyState = WireSocket.CLOSING;
  }

  terminate(): void {
    this.#socket.destroy();
  }

  #read(chunk: Buffer): void {
    const b = this.#rest === undefined ? chunk : Buffer.concat([this.#rest, chunk]);
    let at = 0;
    while (b.length - at >= 2) {
      let len = b[at + 1]! & 0x7f,
        h = 2;
      if (len === 126) {
        if (b.length - at < 4) break;
        len = b.readUInt16BE(at + 2);
        h = 4;
      } else if (len === 127) {
        if (b.length - at < 10) break;
        len = Number(b.readBigUInt64BE(at + 2));
        h = 10;
      }
      if (b.length - at < h + len) break;
      const b0 = b[at]!;
      this.#frame((b0 & 0x80) !== 0, b0 & 0x0f, b.subarray(at + h, at + h + len));
      at += h + len;
    }
    this.#rest = at < b.length ? Buffer.from(b.subarray(at)) : undefined;
  }

  #frame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case 0x0:
      case 0x1:
      case 0x2:
        if (opcode !== 0x0) this.#fragments = undefined;
        if (fin && this.#fragments === undefined) return this.onMessage(payload);
        (this.#fragments ??= []).push(Buffer.from(payload));
        if (fin) {
          const whole = Buffer.concat(this.#fragments);
          this.#fragments = undefined;
          this.onMessage(whole);
        }
        return;
      case 0x8: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (this.readyState === WireSocket.OPEN) this.send(payload.subarray(0, 2), 0x8);
        this.readyState = WireSocket.CLOSED;
        this.onClose(code, payload.subarray(2).toString());
        this.#socket.end();
        return;
      }
      case 0x9:
        return this.send(payload, 0xa);
      default:
        return; // pong
    }
  }
}
