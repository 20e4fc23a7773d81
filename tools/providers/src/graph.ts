import { randomUUID } from 'node:crypto';
import express from 'express';
import { Recorder, behaviourFromEnv, listen, refuse } from './behaviour.js';

/**
 * A Microsoft Graph stand-in for the directory: the OAuth client-credentials token endpoint,
 * `GET /v1.0/users/{upn}`, `POST /v1.0/users` (a duplicate userPrincipalName is refused as
 * Graph refuses it) and `POST /v1.0/users/{id}/assignLicense`, with Graph's error shapes.
 */
const recorder = new Recorder(behaviourFromEnv());
const users = new Map<string, { id: string; userPrincipalName: string; displayName: string; assignedLicenses: unknown[] }>();
const graphError = (code: string, message: string) => ({ error: { code, message } });
const app = express();
app.use(express.json());
recorder.mountAdmin(app);

app.post('/:tenant/oauth2/v2.0/token', express.urlencoded({ extended: false }), (req, res) => {
  if (req.body?.grant_type !== 'client_credentials' || !req.body?.client_id) {
    res.status(400).json({ error: 'invalid_request' });
    return;
  }
  res.json({ token_type: 'Bearer', expires_in: 3599, access_token: `stand-in-${randomUUID()}` });
});

app.use('/v1.0', (req, res, next) => {
  if (!req.get('authorization')?.startsWith('Bearer ')) {
    res.status(401).json(graphError('InvalidAuthenticationToken', 'Access token is empty.'));
    return;
  }
  next();
});

app.get('/v1.0/users/:upn', async (req, res) => {
  const verdict = await recorder.gate('users.get', req.params.upn);
  if (verdict)
    return refuse(res, verdict, graphError(verdict.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', 'stand-in refusal'));
  const user = users.get(req.params.upn.toLowerCase());
  if (!user) return void res.status(404).json(graphError('Request_ResourceNotFound', `Resource '${req.params.upn}' does not exist.`));
  res.json(user);
});

app.post('/v1.0/users', async (req, res) => {
  const upn = String(req.body?.userPrincipalName ?? '');
  const { refusal: verdict, call } = await recorder.admit('users.create', upn);
  if (verdict)
    return refuse(res, verdict, graphError(verdict.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', 'stand-in refusal'));
  if (!upn || !req.body?.displayName || !req.body?.mailNickname || req.body?.accountEnabled === undefined) {
    call.status = 400;
    return void res.status(400).json(graphError('Request_BadRequest', 'Required properties are missing.'));
  }
  if (users.has(upn.toLowerCase())) {
    call.status = 400;
    return void res
      .status(400)
      .json(graphError('Request_BadRequest', 'Another object with the same value for property userPrincipalName already exists.'));
  }
  call.status = 201;
  const user = { id: randomUUID(), userPrincipalName: upn, displayName: String(req.body.displayName), assignedLicenses: [] };
  users.set(upn.toLowerCase(), user);
  await recorder.lateReply('users.create');
  res.status(201).json(user);
});

app.post('/v1.0/users/:id/assignLicense', async (req, res) => {
  const user = [...users.values()].find((u) => u.id === req.params.id);
  const verdict = await recorder.gate('users.assignLicense', user?.userPrincipalName);
  if (verdict)
    return refuse(res, verdict, graphError(verdict.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', 'stand-in refusal'));
  if (!user) return void res.status(404).json(graphError('Request_ResourceNotFound', 'No such user.'));
  user.assignedLicenses = req.body?.addLicenses ?? [];
  res.json(user);
});

listen(app, Number(process.env.PORT ?? 9501), 'graph');
