import express from 'express';
import { Recorder, behaviourFromEnv, listen } from './behaviour.js';

/**
 * The student-information source: `GET /students` lists every student it knows. Starts with
 * SIS_STUDENTS generated students (SIS0001…), and tests add more with POST /students.
 */
const recorder = new Recorder(behaviourFromEnv());
const students = Array.from({ length: Number(process.env.SIS_STUDENTS ?? 30) }, (_, i) => {
  const id = `SIS${String(i + 1).padStart(4, '0')}`;
  return { id, name: `Student ${id}`, email: `${id.toLowerCase()}@students.cupo.test` };
});
const app = express();
app.use(express.json());
recorder.mountAdmin(app);

app.get('/students', async (_req, res) => {
  const verdict = await recorder.gate('students.list');
  if (verdict) return void res.status(verdict.status).json({ error: 'stand-in refusal' });
  res.json(students);
});

app.post('/students', (req, res) => {
  for (const s of (req.body ?? []) as typeof students) if (!students.some((x) => x.id === s.id)) students.push(s);
  res.status(201).json({ count: students.length });
});

listen(app, Number(process.env.PORT ?? 9503), 'sis');
