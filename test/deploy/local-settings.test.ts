// What `npm start` takes from the environment (scripts/local-settings.ts): defaults, bounds,
// and one clear error for anything else.
import { LOCAL_WORKERS_MAX, localSettingsFrom } from '../../scripts/local-settings';
import { WORKERS_NICE_DEFAULT } from '../../scripts/worker-priority';

describe('npm start settings', () => {
  test('defaults: 2 workers, the API on 8080, workers at the default nice, 60 s to stop', () => {
    expect(localSettingsFrom({})).toEqual({ workers: 2, port: 8080, workersNice: WORKERS_NICE_DEFAULT, opsPortBase: 9100, stopTimeoutS: 60 });
  });

  test.each(['WORKERS', 'PORT', 'WORKERS_NICE', 'WORKERS_OPS_PORT_BASE', 'STOP_TIMEOUT_S'])('%s= (empty or blank) is refused, not taken as the default, as the apps refuse it', (name) => {
    for (const value of ['', ' ']) expect(() => localSettingsFrom({ [name]: value })).toThrow(new RegExp(`^${name} is empty: unset it to use the default \\(\\d+\\)$`));
  });

  test('values in range are taken', () => {
    expect(localSettingsFrom({ WORKERS: '1', PORT: '18081', WORKERS_NICE: '0', WORKERS_OPS_PORT_BASE: '9400', STOP_TIMEOUT_S: '5' })).toEqual({ workers: 1, port: 18081, workersNice: 0, opsPortBase: 9400, stopTimeoutS: 5 });
    expect(localSettingsFrom({ WORKERS: String(LOCAL_WORKERS_MAX), PORT: '65535' })).toMatchObject({ workers: LOCAL_WORKERS_MAX, port: 65535 });
  });

  test("PORT may not be one of the workers' ops ports", () => {
    expect(() => localSettingsFrom({ PORT: '9101' })).toThrow("PORT 9101 is a worker's ops port (the workers use 9101-9102)");
    expect(() => localSettingsFrom({ PORT: '9104', WORKERS: '4' })).toThrow('the workers use 9101-9104');
    expect(localSettingsFrom({ PORT: '9103' }).port).toBe(9103);
    expect(localSettingsFrom({ PORT: '9100' }).port).toBe(9100);
    // A second checkout moves its workers' ports, and PORT is checked against the moved ones.
    expect(() => localSettingsFrom({ PORT: '9401', WORKERS_OPS_PORT_BASE: '9400' })).toThrow('the workers use 9401-9402');
    expect(localSettingsFrom({ PORT: '9101', WORKERS_OPS_PORT_BASE: '9400' }).port).toBe(9101);
  });

  test.each([
    ['WORKERS', '0'],
    ['WORKERS', String(LOCAL_WORKERS_MAX + 1)],
    ['WORKERS', '1e9'],
    ['WORKERS', '2.5'],
    ['WORKERS', ' 2'],
    ['WORKERS', '-1'],
    ['WORKERS', 'two'],
    ['WORKERS', '99999999999'],
    ['PORT', '0'],
    ['PORT', '65536'],
    ['PORT', '80a'],
    ['PORT', '0x1f90'],
    ['WORKERS_NICE', '20'],
    ['WORKERS_OPS_PORT_BASE', '80'],
    ['WORKERS_OPS_PORT_BASE', '65001'],
    ['STOP_TIMEOUT_S', '0'],
    ['STOP_TIMEOUT_S', '601'],
  ])('%s=%j is refused with a message naming it, its range and the value', (name, value) => {
    let message = '';
    try {
      localSettingsFrom({ [name]: value });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(new RegExp(`^${name} must be an integer from \\d+ to \\d+ `));
    expect(message).toContain(`got ${JSON.stringify(value)}`);
  });
});
