console.log('worker', process.env.NODE_ENV);
setInterval(() => {}, 1000);
