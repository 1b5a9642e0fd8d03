'use server';

import { redirect } from 'next/navigation';
import { endSession, startSession } from '@/lib/auth';

export async function signIn(form: FormData): Promise<void> {
  const email = String(form.get('email') ?? '').trim().toLowerCase();
  const name = String(form.get('name') ?? '').trim();
  if (!email || !name) redirect('/login?error=missing');
  await startSession({ id: email, name, email });
  redirect('/');
}

export async function signOut(): Promise<void> {
  await endSession();
  redirect('/');
}
