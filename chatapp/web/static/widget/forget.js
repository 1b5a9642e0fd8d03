// "Delete my data" in the widget's footer: asks first, then erases everything of the visitor's
// on the server (DELETE /api/chat/me) and leaves an empty widget, signed out. A chunk of its own,
// loaded on the click only. Plain DOM calls: importing shared/dom.js here would move it out of
// the widget's module into a chunk of its own, one more request for every host page; for
// the same reason the catalogue's t() and errorText() are handed over by the widget.

const CSS = `.forget{margin:8px 12px;padding:10px 12px;border:1px solid #fca5a5;border-radius:10px;background:#fef2f2;
color:#7f1d1d;font-size:13px}.forget p{margin:0 0 8px}.forget button{margin-right:8px;padding:5px 10px;border-radius:8px;
border:1px solid #cbd5e1;background:#fff;color:#0f172a;font:inherit;cursor:pointer}
.forget .yes{background:#b91c1c;border-color:#b91c1c;color:#fff}`;

function make(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export function forget(widget, t, errorText) {
  const view = widget.view;
  if (view.forgetBox) { view.forgetBox.querySelector('button').focus(); return; }
  if (!view.forgetStyled) {
    // A constructed sheet beside the widget's own: an inline <style> would break a strict CSP.
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      view.shadow.adoptedStyleSheets = [...view.shadow.adoptedStyleSheets, sheet];
    } catch {
      view.shadow.append(make('style', { textContent: CSS }));
    }
    view.forgetStyled = true;
  }
  const error = make('p', { className: 'error', role: 'alert' });
  const close = () => { box.remove(); view.forgetBox = null; };
  const no = make('button', { type: 'button', className: 'no', textContent: t('widget.forget.no'), onclick: () => { close(); view.forgetButton.focus(); } });
  const yes = make('button', { type: 'button', className: 'yes', textContent: t('widget.forget') });
  const box = make('div', { className: 'forget', role: 'alertdialog' }, make('p', { textContent: t('widget.forget.ask') }), error, no, yes);
  box.setAttribute('aria-label', t('widget.forget'));
  yes.onclick = async () => {
    yes.disabled = true;
    try {
      await widget.api.request('DELETE', '/api/chat/me');
    } catch (problem) {
      error.textContent = errorText(problem);
      yes.disabled = false;
      return;
    }
    await widget.reset();
    widget.store.clear();
    widget.outbox.clear();
    widget.renderThread();
    box.replaceChildren(make('p', { role: 'status', textContent: t('widget.forget.done') }));
    setTimeout(close, 8000);
  };
  view.forgetBox = box;
  view.scroller.after(box);
  no.focus();
}
