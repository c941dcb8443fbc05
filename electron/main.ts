/**
 * Electron main process — thin on purpose: one window, a menu, file dialogs, and IPC
 * routing of every bridge channel to core/bridge/handlers.ts (the same handlers the web
 * host uses). Secure inference itself runs in the core's worker threads, never here.
 *
 * Run from source: Electron's Node executes this TypeScript file by type stripping, like
 * the rest of the core; the sandboxed preload is bundled to dist/electron/preload.cjs.
 */
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  shell,
  type MenuItemConstructorOptions,
  type WebContents,
} from 'electron';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REQUEST_CHANNELS, type BridgeResult, type PayloadOf, type RequestChannel } from '../core/bridge/contract.ts';
import { createBridgeHandlers, type BridgeHost } from '../core/bridge/handlers.ts';
import { reportsToHTML } from '../core/bridge/report-files.ts';
import { toPpnnError } from '../core/errors.ts';

const RENDERER_INDEX = fileURLToPath(new URL('../dist/renderer/index.html', import.meta.url));
const PRELOAD = fileURLToPath(new URL('../dist/electron/preload.cjs', import.meta.url));

/** One bridge host per window: its sessions and uploads die with it. */
const hosts = new Map<number, BridgeHost>();

function hostFor(contents: WebContents): BridgeHost {
  let host = hosts.get(contents.id);
  if (!host) {
    host = createBridgeHandlers((event, payload) => {
      if (!contents.isDestroyed()) contents.send(event, payload);
    });
    hosts.set(contents.id, host);
    contents.once('destroyed', () => {
      host?.dispose();
      hosts.delete(contents.id);
    });
  }
  return host;
}

/** The HTML report printed to PDF in a hidden window, saved where the user chooses. */
async function exportPdf(
  owner: BrowserWindow,
  payload: PayloadOf<'report:pdf'>,
): Promise<BridgeResult<{ saved: boolean; path?: string }>> {
  try {
    const printer = new BrowserWindow({
      show: false,
      webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false },
    });
    try {
      await printer.loadURL(`data:text/html;charset=utf-8,${encodeURIComponent(reportsToHTML(payload.reports))}`);
      // The report draws its charts with inlined Chart.js after load; give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const pdf = await printer.webContents.printToPDF({ printBackground: true, pageSize: 'A4' });
      const choice = await dialog.showSaveDialog(owner, {
        title: 'Save report as PDF',
        defaultPath: 'report.pdf',
        filters: [{ name: 'PDF', extensions: ['pdf'] }],
      });
      if (choice.canceled || !choice.filePath) return { ok: true, value: { saved: false } };
      writeFileSync(choice.filePath, pdf);
      return { ok: true, value: { saved: true, path: choice.filePath } };
    } finally {
      printer.destroy();
    }
  } catch (e) {
    const err = toPpnnError(e);
    return { ok: false, error: { code: err.code, message: err.message } };
  }
}

function routeChannels(): void {
  for (const channel of REQUEST_CHANNELS) {
    ipcMain.handle(channel, async (ev, payload: unknown) => {
      if (channel === 'report:pdf') {
        const owner = BrowserWindow.fromWebContents(ev.sender);
        if (owner) return exportPdf(owner, payload as PayloadOf<'report:pdf'>);
      }
      const handler = hostFor(ev.sender).handlers[channel as RequestChannel] as (
        p: unknown,
      ) => Promise<BridgeResult<unknown>>;
      return handler(payload ?? {});
    });
  }
}

/** File → Open model…: a native dialog, then the same model:load the Model view uses. */
async function openModelFile(win: BrowserWindow): Promise<void> {
  const choice = await dialog.showOpenDialog(win, {
    title: 'Open a model',
    properties: ['openFile'],
    filters: [{ name: 'Models', extensions: ['json', 'onnx'] }],
  });
  const path = choice.filePaths[0];
  if (choice.canceled || !path) return;
  const result = await hostFor(win.webContents).handlers['model:load']({
    source: 'file',
    name: basename(path),
    bytes: readFileSync(path).toString('base64'),
  });
  win.webContents.send('model:opened', { result });
}

function buildMenu(win: BrowserWindow): void {
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open model…', accelerator: 'CmdOrCtrl+O', click: () => void openModelFile(win) },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        { role: 'toggleDevTools' },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      label: 'Help',
      submenu: [
        {
          label: 'About PPNN Studio',
          click: () =>
            void dialog.showMessageBox(win, {
              title: 'PPNN Studio',
              message: `PPNN Studio ${app.getVersion()}`,
              detail:
                'Privacy-preserving neural-network inference: merging, CKKS preprocessing and a secret-shared ' +
                'online stage.',
            }),
        },
      ],
    },
  ];
  if (process.platform === 'darwin') template.unshift({ role: 'appMenu' });
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 640,
    title: 'PPNN Studio',
    show: false,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
    },
  });
  // The UI is local files only: external links open in the system browser, nothing navigates away.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (ev) => ev.preventDefault());
  win.once('ready-to-show', () => win.show());
  hostFor(win.webContents);
  buildMenu(win);
  void win.loadFile(RENDERER_INDEX);
  return win;
}

void app.whenReady().then(() => {
  routeChannels();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
