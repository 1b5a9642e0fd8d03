// "E-mail me the transcript" in the widget's footer, for a visitor with an e-mail address while
// e-mail is on here (/api/config features.mail): a chunk of its own, loaded only then, so host
// pages of a server without e-mail, and guests, pay nothing for it. Plain DOM calls and the
// catalogue's t() and errorText() handed over, for the reasons forget.js gives.

export function offer(widget, t, errorText) {
  const view = widget.view;
  if (view.mailButton) return;
  const button = Object.assign(document.createElement('button'), { type: 'button', textContent: t('widget.mail') });
  button.onclick = async () => {
    button.disabled = true;
    try {
      await widget.api.post(`/api/chat/rooms/${widget.conversation.room.id}/transcript`);
      button.textContent = '✓';
    } catch (problem) {
      button.textContent = errorText(problem);
      button.disabled = false;
    }
  };
  // Offered while there is a conversation to send, like "Delete my data".
  const setRoom = view.setRoom.bind(view);
  view.setRoom = (room, subtitle) => { setRoom(room, subtitle); button.hidden = !room; };
  button.hidden = !(widget.conversation && widget.conversation.room);
  view.forgetButton.after(button);
  view.mailButton = button;
}
