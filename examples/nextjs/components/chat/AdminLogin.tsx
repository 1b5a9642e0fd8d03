'use client';

import { useState, type FormEvent } from 'react';

const TEXT = { title: 'Support sign-in', email: 'E-mail', password: 'Password', submit: 'Sign in' };

export default function AdminLogin({ onSignIn }: { onSignIn: (email: string, password: string) => Promise<string | null> }) {
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(await onSignIn(String(form.get('email')), String(form.get('password'))));
  }

  return (
    <form className="admin-login" onSubmit={submit}>
      <h1>{TEXT.title}</h1>
      <label>{TEXT.email}<input name="email" type="email" autoComplete="username" required /></label>
      <label>{TEXT.password}<input name="password" type="password" autoComplete="current-password" required /></label>
      {error && <p role="alert">{error}</p>}
      <button type="submit">{TEXT.submit}</button>
    </form>
  );
}
