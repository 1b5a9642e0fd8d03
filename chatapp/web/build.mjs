// Builds what a host page loads for the chat widget (run by `make web`, `make run`, `make test`
// and the browser tests' fixture; it does nothing when no source is newer than the output):
//
//   build/loader.js         served at /widget.js (short cache): options, window.ChatWidget and
//                           the launcher, drawn at once; then it imports the widget module
//   build/widget-HASH.js    the widget (immutable); conversation code and pusher-js are in a
//   build/chunk-HASH.js     chunk it imports only when a chat starts (no laravel-echo: the
//                           widget talks to pusher-js itself, shared/realtime.js)
//   build/manifest.json     logical name -> hashed file
//
// Every file gets .gz and .br siblings so chatapp serves them compressed without work per request.
// Usage: node build.mjs [--force] [--analyze]   (--analyze: what each file holds, by size)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, 'build');
const STATIC = path.join(HERE, 'static');
const MANIFEST = path.join(OUT, 'manifest.json');
// pusher-js's worker build: the web build less its HTTP fallbacks (XHR streaming and polling,
// JSONP), which pyreverb never needs; it runs on a page's main thread as well (WebSocket, fetch).
const PUSHER = path.join(HERE, 'node_modules', 'pusher-js', 'dist', 'worker', 'pusher.worker.min.js');
const SOURCES = [path.join(STATIC, 'widget'), path.join(STATIC, 'shared'), path.join(HERE, 'build.mjs'),
  path.join(HERE, 'package-lock.json')];
const TARGET = 'es2020';

function newestMtime(entry) {
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...fs.readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

function upToDate() {
  if (!fs.existsSync(MANIFEST)) return false;
  const built = fs.statSync(MANIFEST).mtimeMs;
  return SOURCES.every((source) => newestMtime(source) < built);
}

// widget/live.js imports 'pusher-js': bundled into the lazy chunk (one request fewer, and the
// host page's window.Pusher is never touched), from the worker build above. Its UMD wrapper
// is given a local `module` to fill, so it loads as an ES module (no CommonJS interop helpers).
const pusherWorker = {
  name: 'pusher-worker',
  setup(build) {
    build.onResolve({ filter: /^pusher-js$/ }, () => ({ path: PUSHER, namespace: 'pusher-worker' }));
    build.onLoad({ filter: /.*/, namespace: 'pusher-worker' }, (args) => ({
      contents: `var module = { exports: {} }, exports = module.exports;\n${fs.readFileSync(args.path, 'utf8')}\n`
        + 'export default module.exports;\n',
      loader: 'js',
    }));
  },
};

// Laravel Echo is the panel's (admin/realtime.js); the widget reaches pusher-js without it, and
// importing it again would quietly add its weight to every host page.
const noEcho = {
  name: 'no-echo',
  setup(build) {
    build.onResolve({ filter: /\/vendor\/echo\.js$/ }, (args) => ({
      errors: [{ text: `the widget does not bundle laravel-echo (imported by ${args.importer})` }],
    }));
  },
};

// The stylesheets are CSS in JS strings: minified as CSS here (esbuild leaves strings alone).
const minifiedStyles = {
  name: 'minified-styles',
  setup(build) {
    build.onLoad({ filter: /[\\/]widget[\\/]styles\.js$/ }, async (args) => {
      const source = fs.readFileSync(args.path, 'utf8');
      const sheets = await import(`data:text/javascript,${encodeURIComponent(source)}`);
      const lines = [];
      for (const [name, css] of Object.entries(sheets)) {
        const { code } = await esbuild.transform(css, { loader: 'css', minify: true });
        lines.push(`export const ${name} = ${JSON.stringify(code.trim())};`);
      }
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

/** Write through a temporary name: a server answering meanwhile never reads half a file. */
function writeAtomically(file, bytes) {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, bytes);
  fs.renameSync(temporary, file);
}

function emit(name, bytes, written) {
  const file = path.join(OUT, name);
  writeAtomically(file, bytes);
  writeAtomically(`${file}.gz`, gzipSync(bytes, { level: 9 }));
  writeAtomically(`${file}.br`, brotliCompressSync(bytes, {
    params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }));
  written.add(name);
}

async function build() {
  fs.mkdirSync(OUT, { recursive: true });
  const written = new Set();

  const widget = await esbuild.build({
    entryPoints: { widget: path.join(STATIC, 'widget', 'widget.js') },
    plugins: [pusherWorker, noEcho, minifiedStyles],
    bundle: true, splitting: true, format: 'esm', minify: true, target: TARGET,
    entryNames: '[name]-[hash]', chunkNames: 'chunk-[hash]', outdir: OUT, write: false, metafile: true,
    legalComments: 'eof', logLevel: 'warning',
  });
  if (process.argv.includes('--analyze')) console.log(await esbuild.analyzeMetafile(widget.metafile));
  let widgetName = null;
  for (const file of widget.outputFiles) {
    const name = path.relative(OUT, file.path);
    if (/^widget-/.test(name)) widgetName = name;
    emit(name, Buffer.from(file.contents), written);
  }

  const loader = await esbuild.build({
    entryPoints: [path.join(STATIC, 'widget', 'loader.js')],
    bundle: true, format: 'iife', minify: true, target: TARGET, write: false, logLevel: 'warning',
    plugins: [minifiedStyles],
    define: { __CHATAPP_WIDGET__: JSON.stringify(`/static/build/${widgetName}`) },
  });
  emit('loader.js', Buffer.from(loader.outputFiles[0].contents), written);

  const manifest = { 'widget.js': widgetName, 'loader.js': 'loader.js' };
  writeAtomically(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
  written.add('manifest.json');

  // Files of earlier builds go (after the new ones are in place, so nothing is ever missing).
  for (const name of fs.readdirSync(OUT)) {
    const base = name.replace(/\.(gz|br)$/, '');
    if (!written.has(base)) fs.rmSync(path.join(OUT, name), { force: true });
  }
  return manifest;
}

if (!process.argv.includes('--force') && !process.argv.includes('--analyze') && upToDate()) process.exit(0);
const started = Date.now();
const manifest = await build();
console.log(`chat widget built in ${Date.now() - started} ms: ${Object.values(manifest).join(', ')}`);
