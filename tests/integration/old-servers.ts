import { createServer, type Server, type Socket } from 'node:net';

/**
 * Just enough of PostgreSQL's, Redis's and RabbitMQ's wire protocols to connect and to say an
 * old version — what the preflight reads from a real server — so the version checks can be
 * shown refusing servers this machine does not have. Each answers only what a version read
 * asks; anything else closes the connection.
 */
export interface OldServer {
  url: string;
  close(): Promise<void>;
}

async function listen(url: (port: number) => string, onConnection: (socket: Socket) => void): Promise<OldServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: url(port),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Calls `onChunk` with everything received so far; it returns how many bytes it consumed. */
function reading(socket: Socket, onChunk: (buffer: Buffer) => number) {
  let buffer = Buffer.alloc(0);
  socket.on('data', (data) => {
    buffer = Buffer.concat([buffer, data]);
    for (let used = onChunk(buffer); used > 0; used = onChunk(buffer)) buffer = buffer.subarray(used);
  });
}

/** PostgreSQL (trust auth) whose `SHOW server_version_num` is `versionNum`, e.g. 120022 for 12.22. */
export function oldPostgres(versionNum: number): Promise<OldServer> {
  const message = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const int16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return b;
  };
  const cstr = (s: string) => Buffer.from(`${s}\0`);
  const ready = message('Z', Buffer.from('I'));
  const text = `${Math.floor(versionNum / 10_000)}.${versionNum % 10_000}`;
  return listen(
    (port) => `postgres://postgres@127.0.0.1:${port}/postgres`,
    (socket) => {
      let started = false;
      reading(socket, (buffer) => {
        if (!started) {
          if (buffer.length < 4 || buffer.length < buffer.readInt32BE(0)) return 0;
          started = true;
          socket.write(
            Buffer.concat([
              message('R', int32(0)),
              message('S', Buffer.concat([cstr('server_version'), cstr(text)])),
              message('S', Buffer.concat([cstr('client_encoding'), cstr('UTF8')])),
              message('K', Buffer.concat([int32(1), int32(2)])),
              ready,
            ]),
          );
          return buffer.readInt32BE(0);
        }
        if (buffer.length < 5 || buffer.length < 1 + buffer.readInt32BE(1)) return 0;
        const type = String.fromCharCode(buffer[0]!);
        const query = buffer
          .subarray(5, 1 + buffer.readInt32BE(1))
          .toString()
          .replace(/\0$/, '');
        if (type === 'Q' && /^show server_version_num$/i.test(query.trim())) {
          const value = Buffer.from(String(versionNum));
          socket.write(
            Buffer.concat([
              message(
                'T',
                Buffer.concat([int16(1), cstr('server_version_num'), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)]),
              ),
              message('D', Buffer.concat([int16(1), int32(value.length), value])),
              message('C', cstr('SHOW')),
              ready,
            ]),
          );
        } else {
          socket.end();
        }
        return 1 + buffer.readInt32BE(1);
      });
    },
  );
}

/** Redis whose `INFO` says `redis_version:<version>`. */
export function oldRedis(version: string): Promise<OldServer> {
  return listen(
    (port) => `redis://127.0.0.1:${port}`,
    (socket) => {
      reading(socket, (buffer) => {
        // One RESP array of bulk strings: *N\r\n($len\r\narg\r\n)×N
        const text = buffer.toString('latin1');
        const count = /^\*(\d+)\r\n/.exec(text);
        if (!count) return 0;
        let at = count[0].length;
        const args: string[] = [];
        for (let i = 0; i < Number(count[1]); i += 1) {
          const len = /^\$(\d+)\r\n/.exec(text.slice(at));
          if (!len || text.length < at + len[0].length + Number(len[1]) + 2) return 0;
          at += len[0].length;
          args.push(text.slice(at, at + Number(len[1])));
          at += Number(len[1]) + 2;
        }
        if (args[0]?.toLowerCase() === 'info') {
          const info = `# Server\r\nredis_version:${version}\r\nredis_mode:standalone\r\n`;
          socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`);
        } else {
          socket.write('-ERR unknown command\r\n');
        }
        return at;
      });
    },
  );
}

/** RabbitMQ whose connection.start announces `version`; completes the handshake and the close. */
export function oldRabbitmq(version: string): Promise<OldServer> {
  const shortstr = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
  const longstr = (s: string) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(Buffer.byteLength(s));
    return Buffer.concat([b, Buffer.from(s)]);
  };
  const table = (entries: Record<string, string>) => {
    const body = Buffer.concat(Object.entries(entries).map(([k, v]) => Buffer.concat([shortstr(k), Buffer.from('S'), longstr(v)])));
    const size = Buffer.alloc(4);
    size.writeUInt32BE(body.length);
    return Buffer.concat([size, body]);
  };
  const method = (classId: number, methodId: number, args: Buffer) => {
    const ids = Buffer.alloc(4);
    ids.writeUInt16BE(classId, 0);
    ids.writeUInt16BE(methodId, 2);
    const payload = Buffer.concat([ids, args]);
    const head = Buffer.alloc(7);
    head.writeUInt8(1, 0); // method frame
    head.writeUInt16BE(0, 1); // channel 0
    head.writeUInt32BE(payload.length, 3);
    return Buffer.concat([head, payload, Buffer.from([0xce])]);
  };
  const tune = Buffer.alloc(8);
  tune.writeUInt16BE(2047, 0);
  tune.writeUInt32BE(131072, 2);
  tune.writeUInt16BE(0, 6);
  return listen(
    (port) => `amqp://guest:guest@127.0.0.1:${port}`,
    (socket) => {
      let greeted = false;
      reading(socket, (buffer) => {
        if (!greeted) {
          if (buffer.length < 8) return 0;
          greeted = true;
          socket.write(
            method(
              10,
              10,
              Buffer.concat([
                Buffer.from([0, 9]),
                table({ product: 'RabbitMQ', version, platform: 'Erlang' }),
                longstr('PLAIN AMQPLAIN'),
                longstr('en_US'),
              ]),
            ),
          );
          return 8;
        }
        if (buffer.length < 7 || buffer.length < 8 + buffer.readUInt32BE(3)) return 0;
        const size = buffer.readUInt32BE(3);
        const [classId, methodId] = [buffer.readUInt16BE(7), buffer.readUInt16BE(9)];
        if (classId === 10 && methodId === 11)
          socket.write(method(10, 30, tune)); // start-ok → tune
        else if (classId === 10 && methodId === 40)
          socket.write(method(10, 41, shortstr(''))); // open → open-ok
        else if (classId === 10 && methodId === 50) socket.end(method(10, 51, Buffer.alloc(0))); // close → close-ok
        return 8 + size;
      });
    },
  );
}
