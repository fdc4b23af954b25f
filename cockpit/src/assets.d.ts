// esbuild loads these as text (cockpit/build.mjs).
declare module '*.svg' {
  const text: string;
  export default text;
}
declare module '*.css';
