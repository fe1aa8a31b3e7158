export function Placeholder({ title, text }: { title: string; text: string }) {
  return (
    <div className="page">
      <h1>{title}</h1>
      <div className="state empty">{text}</div>
    </div>
  );
}
