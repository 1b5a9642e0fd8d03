const TEXT = {
  title: 'Trail gear for every season',
  intro: 'Questions about sizes, orders or returns? Press the chat button at the bottom right.',
};

export default function HomePage() {
  return (
    <main className="site-page">
      <h1>{TEXT.title}</h1>
      <p>{TEXT.intro}</p>
    </main>
  );
}
