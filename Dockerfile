FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e .
ENV CASEAPP_INSTANCE_PATH=/app/instance
EXPOSE 8000
CMD ["caseapp", "api", "--host", "0.0.0.0", "--port", "8000"]
