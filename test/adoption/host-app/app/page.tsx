export default function Home() {
  return <main className="host-home">A host app with an export feature.</main>;
}
