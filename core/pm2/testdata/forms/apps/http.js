// Test app for the ecosystem forms: prints the env the profile chose.
console.log('http', process.env.NODE_ENV);
setInterval(() => {}, 1000);
