// Jupyter Notebook 6 from the Debian package jupyter-notebook. It runs as an unprivileged user
// (`nobody` when Michman is root: a notebook is a shell for whoever holds the token), with HOME,
// config, data and runtime directories inside the service directory, and the token in a 0600
// config file. Only the catalog's `jupyter-notebook` version exists as a Debian package.
import { join } from 'node:path';
import { mkdirOwned, writeOwned } from './files.js';
import { httpGet } from './net.js';
import { errorText, executable, type Located, type ServiceModule } from './service.js';

export const jupyter: ServiceModule = {
  type: 'jupyter',
  defaultPort: 8888,
  processName: 'jupyter-notebook',
  helperProcesses: ['ipykernel_launcher'],
  runAs: ['nobody'],
  secretParams: { token: 'token' },

  async locate(version): Promise<Located> {
    if (version !== 'jupyter-notebook' && version !== '') {
      return {
        problem: `service 'jupyter' version '${version}' cannot run on the local provider (Debian 12 packages only Jupyter Notebook 6: use version jupyter-notebook); use openstack or nspawn`,
        wrongVersion: true,
      };
    }
    return executable('/usr/bin/jupyter-notebook', 'jupyter', 'jupyter-notebook');
  },
  versionProbe: { args: ['--version'], pattern: /^(\d+\.\d+(?:\.\d+)*)/m },
  // The catalog names Notebook 6 'jupyter-notebook' and Notebook 7 'jupyter-notebook-7'.
  versionOf: (v) => (v === 'jupyter-notebook' || v === '' ? '6' : v === 'jupyter-notebook-7' ? '7' : undefined),

  ports: (run) => [run.port],

  async configure(run, program) {
    const home = join(run.dataDir, 'home');
    const notebooks = join(run.dataDir, 'notebooks');
    const runtime = join(run.confDir, 'runtime');
    await mkdirOwned(home, run.user, 0o700);
    await mkdirOwned(notebooks, run.user, 0o700);
    await mkdirOwned(runtime, run.user, 0o700);
    for (const p of ['install_irkernel', 'install_sparkmagic']) {
      if ((run.config[p] ?? 'false') === 'true') run.emit('warn', `${p}: not available on the local provider; ignored`);
    }
    const conf = {
      NotebookApp: {
        ip: run.address,
        port: run.port,
        port_retries: 0,
        open_browser: false,
        token: run.secrets.token ?? '',
        password: '',
        notebook_dir: notebooks,
        allow_root: run.user === undefined && process.getuid?.() === 0,
      },
      // Kernels' ZeroMQ ports stay on 127.0.0.1 (jupyter_client launches kernels only on addresses
      // configured on an interface, and 127.x.y.z is routed, not configured): loopback all the same.
      KernelManager: { ip: '127.0.0.1' },
    };
    const path = join(run.confDir, 'jupyter_notebook_config.json');
    await writeOwned(path, JSON.stringify(conf, null, 2) + '\n', run.user, 0o600);
    return {
      program,
      args: ['--no-browser', `--config=${path}`],
      env: {
        HOME: home,
        JUPYTER_CONFIG_DIR: join(home, '.jupyter'),
        JUPYTER_DATA_DIR: join(home, '.local', 'share', 'jupyter'),
        JUPYTER_RUNTIME_DIR: runtime,
        IPYTHONDIR: join(home, '.ipython'),
      },
    };
  },

  async health(run) {
    try {
      // /api/status needs the token: a 200 proves the server is up and the token is the one we set.
      const r = await httpGet(`http://${run.address}:${run.port}/api/status`, { Authorization: `token ${run.secrets.token ?? ''}` });
      if (r.status !== 200) return { healthy: false, detail: `GET /api/status → ${r.status}` };
      return { healthy: true, detail: `GET /api/status with token → 200 at ${run.address}:${run.port}` };
    } catch (e) {
      return { healthy: false, detail: `jupyter ${run.address}:${run.port}: ${errorText(e)}` };
    }
  },
};
