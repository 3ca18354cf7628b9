export default function Home() {
  return <main>A host app with an export feature.</main>;
}
