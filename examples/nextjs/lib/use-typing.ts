'use client';

// Sends "typing" while the person types (at most every 2 s) and "stopped" 3 s after the last key
// or at once after sending: chatapp then broadcasts `.user.typing` to the room.
import { useCallback, useEffect, useRef } from 'react';

const REPEAT_MS = 2000;
const IDLE_MS = 3000;

export function useTypingSender(send: ((isTyping: boolean) => void) | null) {
  const lastSent = useRef(0);
  const idle = useRef<ReturnType<typeof setTimeout> | null>(null);
  const sendRef = useRef(send);
  sendRef.current = send;

  const stop = useCallback(() => {
    if (idle.current) clearTimeout(idle.current);
    idle.current = null;
    if (lastSent.current) sendRef.current?.(false);
    lastSent.current = 0;
  }, []);

  const keystroke = useCallback(() => {
    const now = Date.now();
    if (now - lastSent.current > REPEAT_MS) {
      lastSent.current = now;
      sendRef.current?.(true);
    }
    if (idle.current) clearTimeout(idle.current);
    idle.current = setTimeout(stop, IDLE_MS);
  }, [stop]);

  useEffect(() => () => { if (idle.current) clearTimeout(idle.current); }, []);
  return { keystroke, stop };
}
