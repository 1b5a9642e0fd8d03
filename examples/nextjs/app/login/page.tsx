import { signIn } from './actions';

const TEXT = { title: 'Sign in', name: 'Name', email: 'E-mail', submit: 'Sign in', missing: 'Name and e-mail, please.' };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ error?: string }> }) {
  const { error } = await searchParams;
  return (
    <main className="site-page">
      <h1>{TEXT.title}</h1>
      <form action={signIn} className="site-login">
        <label>{TEXT.name}<input name="name" autoComplete="name" required /></label>
        <label>{TEXT.email}<input name="email" type="email" autoComplete="email" required /></label>
        {error && <p role="alert">{TEXT.missing}</p>}
        <button type="submit">{TEXT.submit}</button>
      </form>
    </main>
  );
}
