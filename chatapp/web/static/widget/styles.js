// The widget's styles, applied inside its shadow root only: the host page's CSS cannot
// reach in, and these rules cannot leak out.
// Dark colours: forced by data-theme="dark", or following the visitor's system with "auto".
const DARK = '--ink: #e5e7eb; --muted: #9ca3af; --line: #374151; --bg: #1f2937; --soft: #374151; '
  + '--canvas: #111827; --danger: #fca5a5; --failed-bg: #450a0a; --failed-line: #7f1d1d;';

// What the launcher needs: the loader draws it with these rules alone, before the widget loads.
export const LAUNCHER_CSS = `
:host { all: initial; }
.root {
  --accent: #2563eb; --accent-ink: #fff; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb;
  --bg: #fff; --soft: #f3f4f6; --canvas: #fafafa; --danger: #b91c1c; --failed-bg: #fee2e2; --failed-line: #fecaca;
  position: fixed; bottom: 20px; right: 20px; z-index: 2147483000;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); text-align: left; direction: ltr; letter-spacing: normal; word-spacing: normal;
  text-transform: none; text-shadow: none; text-indent: 0; font-style: normal; font-weight: 400;
  white-space: normal; visibility: visible; cursor: auto; -webkit-font-smoothing: antialiased; box-sizing: border-box;
}
.root.left { right: auto; left: 20px; }
.root[data-theme="dark"] { ${DARK} }
@media (prefers-color-scheme: dark) { .root[data-theme="auto"] { ${DARK} } }
.root *, .root *::before, .root *::after { box-sizing: border-box; }
.sr-only { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
button { font: inherit; color: inherit; cursor: pointer; }
button:focus-visible, textarea:focus-visible, a:focus-visible, .attach:focus-within {
  outline: 3px solid var(--accent); outline-offset: 2px;
}
.launcher {
  position: relative; width: 60px; height: 60px; border-radius: 50%; border: 0; margin: 0; padding: 0;
  background: var(--accent); color: var(--accent-ink); display: grid; place-items: center;
  box-shadow: 0 6px 24px rgba(0,0,0,.22); transition: transform .15s ease;
}
.launcher:hover { transform: scale(1.05); }
.launcher.has-label { width: auto; padding: 0 22px 0 18px; border-radius: 30px; display: flex; align-items: center; gap: 8px; }
.launcher-label { font-size: 15px; font-weight: 600; white-space: nowrap; }
.root.open .launcher.has-label { width: 60px; padding: 0; justify-content: center; }
.root.open .launcher-label { display: none; }
.launcher .icon { width: 28px; height: 28px; }
.root.open .launcher .icon-chat { display: none; }
.root:not(.open) .launcher .icon-down { display: none; }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #dc2626; color: #fff; font-size: 12px; font-weight: 700;
  display: grid; place-items: center; border: 2px solid #fff;
}
.badge[hidden] { display: none; }
@media (max-width: 520px) {
  .root { bottom: 14px; right: 14px; }
  .root.left { left: 14px; }
  .root.open { inset: 0; }
  .root.open .launcher { display: none; }
}
@media (prefers-reduced-motion: reduce) { .launcher { transition: none; } }
@media print { .root { display: none; } }
`;

// The rest of the widget's rules. The widget adopts them after LAUNCHER_CSS, which the loader hands
// it (boot's launcherCss) rather than the widget module carrying a second copy. One [hidden] rule
// for every element a class gives a display of its own (and the chunks' boxes).
export const PANEL_CSS = `
[hidden] { display: none !important; }
.panel {
  position: absolute; bottom: 76px; right: 0; width: 370px; height: min(600px, calc(100vh - 120px));
  background: var(--bg); border-radius: 16px; box-shadow: 0 12px 48px rgba(0,0,0,.25);
  display: flex; flex-direction: column; overflow: hidden; border: 1px solid var(--line);
}
.root.left .panel { right: auto; left: 0; }
.head { background: var(--accent); color: var(--accent-ink); padding: 14px 12px 14px 18px; display: flex; align-items: center; gap: 6px; }
.head .titles { flex: 1; min-width: 0; }
.head h2 { margin: 0; font-size: 17px; font-weight: 650; }
.head .subtitle, .head .status-line { margin: 2px 0 0; font-size: 13px; }
.head .offer { width: auto; height: auto; display: inline; padding: 0; font-size: 13px; text-decoration: underline; }
.head button { background: transparent; border: 0; color: inherit; width: 36px; height: 36px; border-radius: 8px; display: grid; place-items: center; }
.head button:hover { background: rgba(255,255,255,.15); }
.banner { margin: 0; padding: 8px 14px; font-size: 13px; background: #fef3c7; color: #78350f; border-bottom: 1px solid #fde68a; }
.banner.offline { background: #fee2e2; color: #7f1d1d; border-color: #fecaca; }
.scroller { flex: 1; overflow-y: auto; padding: 14px 14px 6px; background: var(--canvas); overscroll-behavior: contain; }
.greeting { background: var(--bg); border: 1px solid var(--line); border-radius: 12px; padding: 10px 12px; margin-bottom: 12px; color: var(--muted); font-size: 14px; }
.older { display: block; margin: 0 auto 10px; background: none; border: 1px solid var(--line); border-radius: 14px; padding: 4px 12px; font-size: 13px; color: var(--muted); }
.messages { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.msg { display: flex; flex-direction: column; max-width: 82%; }
.msg.ours { align-self: flex-end; align-items: flex-end; }
.msg.theirs { align-self: flex-start; align-items: flex-start; }
.msg.system { align-self: center; max-width: 90%; font-size: 12px; color: var(--muted); text-align: center; }
.bubble { padding: 8px 12px; border-radius: 16px; overflow-wrap: anywhere; white-space: pre-wrap; }
.msg.ours .bubble { background: var(--accent); color: var(--accent-ink); border-bottom-right-radius: 4px; }
.msg.theirs .bubble { background: var(--bg); border: 1px solid var(--line); border-bottom-left-radius: 4px; }
.msg.failed .bubble { background: var(--failed-bg); color: var(--danger); border: 1px solid var(--failed-line); }
.bubble .body { margin: 0; }
.bubble a { color: inherit; text-decoration: underline; }
.meta { font-size: 11px; color: var(--muted); margin-top: 2px; display: flex; gap: 6px; }
.msg.ours .meta .who { display: none; }
.attachment { display: flex; flex-direction: column; gap: 4px; margin-top: 4px; }
.attachment .preview { max-width: 220px; max-height: 220px; border-radius: 10px; display: block; background: var(--soft); }
.attachment .file { font-size: 13px; word-break: break-all; }
.retry-actions { font-size: 12px; color: var(--danger); display: flex; gap: 8px; align-items: center; margin-top: 2px; }
.link-button { background: none; border: 0; padding: 0; color: var(--ink); text-decoration: underline; font-size: 12px; }
.typing { min-height: 22px; padding: 2px 16px; font-size: 12px; color: var(--muted); font-style: italic; background: var(--canvas); }
.note { margin: 0; padding: 8px 14px; font-size: 13px; background: var(--soft); color: var(--ink); border-top: 1px solid var(--line); }
.note .start-over { font-size: 13px; }
.composer { border-top: 1px solid var(--line); padding: 8px 10px; background: var(--bg); }
.composer-row { display: flex; align-items: flex-end; gap: 4px; }
.input {
  flex: 1; resize: none; border: 1px solid var(--line); border-radius: 12px; padding: 9px 12px;
  font: inherit; font-size: 16px; color: var(--ink); background: var(--bg); max-height: 140px; min-height: 40px; margin: 0;
}
.attach, .send { width: 40px; height: 40px; border-radius: 10px; display: grid; place-items: center; border: 0; background: transparent; color: var(--muted); cursor: pointer; flex: none; }
.send { background: var(--accent); color: var(--accent-ink); }
.send:disabled { opacity: .5; cursor: default; }
.attach:hover { background: var(--soft); }
.file-chip { display: flex; align-items: center; gap: 8px; margin-bottom: 6px; padding: 4px 8px; background: var(--soft); border-radius: 10px; font-size: 13px; }
.file-chip img { width: 40px; height: 40px; object-fit: cover; border-radius: 6px; }
.chip-name { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.chip-remove { border: 0; background: none; font-size: 18px; line-height: 1; }
.composer-error { margin: 4px 2px 0; font-size: 12px; color: var(--danger); }
.composer-error:empty { display: none; }
.foot { display: flex; justify-content: space-between; align-items: center; padding: 4px 12px 8px; font-size: 11px; color: var(--muted); background: var(--bg); }
.foot button { background: none; border: 0; color: var(--muted); text-decoration: underline; font-size: 11px; padding: 2px; }
@media (max-width: 520px) {
  .panel { position: fixed; inset: 0; width: 100%; height: 100%; height: 100dvh; border-radius: 0; border: 0; bottom: 0; }
}
`;
