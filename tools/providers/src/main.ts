/** One image for the four stand-ins (compose): STAND_IN picks which one this container runs. */
const which = process.env.STAND_IN ?? '';
if (!['graph', 'moodle', 'sis', 'smtp'].includes(which)) {
  console.error('STAND_IN must be one of graph, moodle, sis, smtp');
  process.exit(1);
}
await import(`./${which}.js`);
